"""Reading inputs and checking releases before they reach the raw store."""
