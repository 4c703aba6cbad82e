"""What the tests share: fixtures, scripted scenarios, recorders, servers."""
