#### good
defmodule DemoWeb.Router do
  use DemoWeb, :router

  @csp %{"content-security-policy" => "default-src 'self'"}

  pipeline :browser do
    plug :accepts, ["html"]
    plug :fetch_session
    plug :protect_from_forgery
    plug :put_secure_browser_headers, @csp
  end

  pipeline :admin do
    plug :accepts, ["html"]
    plug :fetch_session
    plug :protect_from_forgery
    plug :put_secure_browser_headers, @csp
  end
end
#### adds_finding
defmodule DemoWeb.Router do
  use DemoWeb, :router

  @csp %{"content-security-policy" => "default-src 'self'"}

  pipeline :browser do
    plug :accepts, ["html"]
    plug :fetch_session
    plug :protect_from_forgery
    plug :put_secure_browser_headers, @csp
  end

  pipeline :admin do
    plug :accepts, ["html"]
    plug :fetch_session
    plug :protect_from_forgery
    plug :put_secure_browser_headers, @csp
  end

  pipeline :api do
    plug :accepts, ["html"]
    plug :fetch_session
  end
end
#### unparseable
defmodule DemoWeb.Router do
  use DemoWeb, :router

  pipeline :browser do
    plug :accepts, ["html"]
    plug :fetch_session
    plug :protect_from_forgery
    plug :put_secure_browser_headers, %{"content-security-policy" => "default-src 'self'"
  end
end
