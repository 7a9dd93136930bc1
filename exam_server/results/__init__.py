"""Results: publication, review requests, certificates, seals, PDFs and ZIPs, statistics and exports."""
