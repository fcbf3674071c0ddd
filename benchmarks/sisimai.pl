#!/usr/bin/perl
# The peer, for the benchmark: decode each file given (or standard input) with Sisimai and
# print one line per result, so both tools do the same work: read, decode, emit.
use strict;
use warnings;
use Sisimai;

my @inputs = @ARGV ? @ARGV : ('STDIN');
my $n = 0;
for my $path (@inputs) {
    my $data;
    if ($path eq 'STDIN') {
        local $/; $data = <STDIN>; $path = \$data;
    }
    my $found = Sisimai->make($path, 'delivered' => 1) || [];
    for my $e (@$found) {
        my $d = $e->damn;
        print join("\t", $d->{'recipient'} // '', $d->{'reason'} // '', $d->{'deliverystatus'} // ''), "\n";
        $n++;
    }
}
print STDERR "sisimai: $n results\n";
