"""Read models: per view a pure ``evolve``, its tables and a thin store; and the runners that feed them."""
