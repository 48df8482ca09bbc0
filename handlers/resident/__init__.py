"""What a resident uses: family doctor, booking, health log, stations, tips, vaccines."""
