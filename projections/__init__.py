"""Read models built from the events: the conversations projection, its queries and replay."""
