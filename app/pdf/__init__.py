"""Drawing on paper, no database: Chinese fonts, QR codes as vector paths, the card sheet's layout,
and reading every printed QR back before paper is spent. Pass cards, duty sheets, posters and
certificates all draw with these."""
