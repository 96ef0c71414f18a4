"""What the four bounded contexts (registry, planning, reporting, awards) share: the reference data their rules and
the read models consult (``deps``) and the write-side lookups derived across contexts (``lookups``)."""
