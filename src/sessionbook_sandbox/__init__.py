"""Stand-ins for Airwallex and Cal.com, written from their docs, independent of our clients."""
