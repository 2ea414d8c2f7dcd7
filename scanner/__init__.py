"""Gate scanner: reads QR passes from a camera and asks the service for a verdict."""
