"""Gate scanner: reads QR passes from a camera and asks the service for a verdict."""

#: Sent with every request (X-Scanner-Version): the devices page shows which gate runs what.
__version__ = "1.1.0"
