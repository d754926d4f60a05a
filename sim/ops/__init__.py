"""The insurer's side of the simulation: SimPy processes for staff and claims."""
