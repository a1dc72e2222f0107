// The entry of the single executable (scripts/executable bundles from here): the command line, as bin/tcptop runs it.
import { main } from '../cli';

main(process.argv).then((code) => {
  process.exitCode = code;
});
