"""Planning context: plans (kế hoạch) down the hierarchy; ``seeds/`` holds the four real plans as data."""
