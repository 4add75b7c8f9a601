"""Building blocks every screen shares: table models, the operations helper, forms, messages, dates."""
