#### good
import Config

config :shop, ShopWeb.Endpoint,
  url: [host: "shop.example.com"],
  secret_key_base: System.fetch_env!("SECRET_KEY_BASE")
#### unparseable
import Config

config :shop, ShopWeb.Endpoint,
  url: [host: "shop.example.com"],
  secret_key_base: System.fetch_env!("SECRET_KEY_BASE"
#### adds_finding
import Config

config :shop, ShopWeb.Endpoint,
  url: [host: "shop.example.com"],
  secret_key_base: System.fetch_env!("SECRET_KEY_BASE"),
  signing_salt: IO.inspect(System.fetch_env!("SALT"))
