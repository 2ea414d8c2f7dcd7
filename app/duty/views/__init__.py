"""Gate-duty pages and API routes, one module per page group, added to the office and api blueprints."""
