"""HTTP plumbing shared by every route: errors, middleware, rate limits, dependencies."""
