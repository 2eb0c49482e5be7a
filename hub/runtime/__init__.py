"""One hub process, wired from settings: the store, contracts, connectors and their clients,
the gateway and pipeline (`build`); the worker thread that consumes (`worker_thread`); and
the supervisor of `hub serve --workers N` (`supervisor`). The only room that knows them all."""
