"""The print engine: label stocks as data (``layouts`` + ``layouts.json``), the streaming
PDF writer (``pdf``) and QR images (``images``). Pure drawing: no database, no Flask; the
print shop's services (``stickerreg.services.printshop``) feed it."""
