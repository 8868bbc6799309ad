"""The shared suite every adapter must pass, and wire-level fakes of the vendors."""
