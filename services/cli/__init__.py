"""The ``thidua`` command line (``main.app``), one module per command group; ``kit`` is what they all share (the
root group, exit codes, readable operator errors)."""
