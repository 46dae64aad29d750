import { useTitle } from '../ui';

export const NotFound = () => {
  useTitle('Not found');
  return (
    <div>
      <h1>Nothing here</h1>
      <p>
        This page does not exist. <a href="/">Go home</a> or <a href="/search">browse every package</a>.
      </p>
    </div>
  );
};
