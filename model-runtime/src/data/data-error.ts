/** Bad input data: the message names the file, the line and what was expected. */
export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }

  static at(file: string, line: number, problem: string): DataError {
    return new DataError(`${file} line ${line}: ${problem}`);
  }
}
