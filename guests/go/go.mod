module ringvisor/guests/go

go 1.19
