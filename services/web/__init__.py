"""The officials' web app (docs/ui.md): server-rendered pages over the same read models, access rules and
message bus as the API, served by ``thidua serve`` at ``/``.

An entry point: it may import everything below it (kernel with its labels, domain, read models, the API's access
rules); nothing imports it but the command line that serves it (``services.cli.main``).
"""
