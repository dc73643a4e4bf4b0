module github.com/latchid/latch/tools/dex

go 1.26.8
