"""Problem building: instances, LP arrays, tie-break, engine."""
