/**
 * One async task at a time: a call while it runs asks for one more run after it (calls in between
 * count as one), so a burst of wake-ups costs at most two runs. Errors go to `onError`.
 */
export const coalesced = (task: () => Promise<void>, onError: (e: unknown) => void): (() => void) => {
  let running = false;
  let again = false;
  const run = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    void task()
      .catch(onError)
      .finally(() => {
        running = false;
        if (again) {
          again = false;
          run();
        }
      });
  };
  return run;
};
