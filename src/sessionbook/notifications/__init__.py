"""Customer notifications: an outbox of durable messages and the ports that send them."""
