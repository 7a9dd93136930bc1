"""System administration: cycles, code tables, exemption conditions."""
