"""Routing policies: the policy-file model, its loader, and the planner that turns a
request into an ordered plan of provider attempts (DESIGN §5)."""
