module github.com/hsdfat8/diam-gw

go 1.26
