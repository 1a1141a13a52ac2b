module inst

go 1.26
