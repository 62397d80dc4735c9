"""The billing service: accounts and keys API, the metered gateway, authorize/settle."""
