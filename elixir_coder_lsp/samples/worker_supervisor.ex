defmodule Jobs.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    children = [
      {Registry, keys: :unique, name: Jobs.Registry},
      {DynamicSupervisor, strategy: :one_for_one, name: Jobs.WorkerSupervisor},
      {Task.Supervisor, name: Jobs.TaskSupervisor},
      Jobs.Scheduler
    ]

    Supervisor.start_link(children, strategy: :rest_for_one, name: Jobs.Supervisor)
  end
end

defmodule Jobs.Scheduler do
  @moduledoc "Runs queued jobs concurrently with a bounded number of tasks."
  use GenServer

  @max_concurrency 4

  def start_link(_), do: GenServer.start_link(__MODULE__, :ok, name: __MODULE__)

  def enqueue(job) when is_function(job, 0), do: GenServer.cast(__MODULE__, {:enqueue, job})

  @impl true
  def init(:ok), do: {:ok, %{queue: :queue.new(), running: %{}}}

  @impl true
  def handle_cast({:enqueue, job}, state) do
    {:noreply, state |> Map.update!(:queue, &:queue.in(job, &1)) |> run_next()}
  end

  @impl true
  def handle_info({ref, _result}, state) when is_reference(ref) do
    Process.demonitor(ref, [:flush])
    {:noreply, state |> Map.update!(:running, &Map.delete(&1, ref)) |> run_next()}
  end

  def handle_info({:DOWN, ref, :process, _pid, _reason}, state) do
    {:noreply, state |> Map.update!(:running, &Map.delete(&1, ref)) |> run_next()}
  end

  defp run_next(%{running: running} = state) when map_size(running) >= @max_concurrency, do: state

  defp run_next(state) do
    case :queue.out(state.queue) do
      {{:value, job}, queue} ->
        task = Task.Supervisor.async_nolink(Jobs.TaskSupervisor, job)
        run_next(%{state | queue: queue, running: Map.put(state.running, task.ref, task)})

      {:empty, _queue} ->
        state
    end
  end
end
