"""The demo year (``thidua demo``): its data (``data``), the simulated year through the command handlers
(``year``) and the summary printed after it (``report``)."""
