"""A worker's HTTP side: routers for the API, self-service pages and the archive; their guards."""
