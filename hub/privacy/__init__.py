"""Personal data: fields sealed in flight, erasure by crypto-shredding, a person's export."""
