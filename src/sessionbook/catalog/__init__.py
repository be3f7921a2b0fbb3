"""The packages a coach sells."""
