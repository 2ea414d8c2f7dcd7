"""Health pages, one module per page group; each adds its routes to an audience blueprint."""
