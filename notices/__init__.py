"""Citizens told about their case (PWA 1662 step 4): by e-mail, SMS or LINE."""
