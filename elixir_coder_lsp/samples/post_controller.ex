defmodule BlogWeb.PostController do
  use BlogWeb, :controller

  alias Blog.Posts
  alias Blog.Posts.Post

  action_fallback BlogWeb.FallbackController

  def index(conn, params) do
    page = Map.get(params, "page", "1") |> String.to_integer()
    posts = Posts.list_published(page: page, per_page: 20)
    render(conn, :index, posts: posts, page: page)
  end

  def show(conn, %{"id" => id}) do
    with {:ok, post} <- Posts.fetch_post(id) do
      render(conn, :show, post: post)
    end
  end

  def create(conn, %{"post" => post_params}) do
    author = conn.assigns.current_user

    with {:ok, %Post{} = post} <- Posts.create_post(author, post_params) do
      conn
      |> put_status(:created)
      |> put_resp_header("location", ~p"/posts/#{post}")
      |> render(:show, post: post)
    end
  end

  def update(conn, %{"id" => id, "post" => post_params}) do
    with {:ok, post} <- Posts.fetch_post(id),
         :ok <- authorize(conn.assigns.current_user, post),
         {:ok, post} <- Posts.update_post(post, post_params) do
      render(conn, :show, post: post)
    end
  end

  def delete(conn, %{"id" => id}) do
    with {:ok, post} <- Posts.fetch_post(id),
         :ok <- authorize(conn.assigns.current_user, post),
         {:ok, _post} <- Posts.delete_post(post) do
      send_resp(conn, :no_content, "")
    end
  end

  defp authorize(%{id: user_id}, %Post{author_id: user_id}), do: :ok
  defp authorize(_user, _post), do: {:error, :forbidden}
end
