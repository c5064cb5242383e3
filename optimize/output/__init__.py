"""Writers: atomic files, reports, figures, manifests."""
