"""The channels: each converts its platform's events into the core's neutral events and renders replies back."""
