"""HTTP plumbing shared by the routes: error handlers, middleware, limits, dependencies."""
