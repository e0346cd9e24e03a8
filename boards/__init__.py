"""Board platforms, top-level wrappers, build plans and host drivers (PYNQ-Z1)."""
