"""Documents the municipality delivers (licences, permits) as bilingual PDFs signed with its
certificate (PAdES), and the check anyone can run on one (`hub documents verify`)."""
