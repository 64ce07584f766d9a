"""Join codes: a token per station printed as a QR code, the scan resolve, the landing page and posters."""
