"""Time: the duty calendar, the planner that fills the outbox, the dispatcher, the clock."""
