"""Who may call the API: roles, named credentials kept as hashes, and their store on Kafka."""
